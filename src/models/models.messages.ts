import { Controller } from '@nestjs/common';
import { RateLimited } from '../rate-limit/rate-limited';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { validateInput } from '../common/validation/api-validation.pipe';
import { AuthorizedMessage } from '../common/messaging/authorized-message.dto';
import { ModelListResponseDto } from './dto/models.dto';
import { ModelCatalog } from './model-catalog';
import { presentModels } from './models.presenter';

/** `models.list` for services inside the deployment (authenticated by the global guard). */
@RateLimited()
@Controller()
export class ModelsMessages {
  constructor(private readonly catalog: ModelCatalog) {}

  @MessagePattern('models.list')
  async list(@Payload() payload: unknown): Promise<ModelListResponseDto> {
    validateInput(AuthorizedMessage, payload, 'payload', true);
    return presentModels(await this.catalog.list());
  }
}
