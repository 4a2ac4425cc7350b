import { IntersectionType } from '@nestjs/swagger';
import { AuthorizedMessage } from '../../common/messaging/authorized-message.dto';
import { BidSessionBodyDto, BidSessionQueryDto, ModelSessionBodyDto, ModelSessionQueryDto } from './session-request.dto';

/** `session.create_model`: the query and body of the HTTP route in one payload. */
export class ModelSessionMessageDto extends IntersectionType(AuthorizedMessage, ModelSessionQueryDto, ModelSessionBodyDto) {}

/** `session.create_bid`. */
export class BidSessionMessageDto extends IntersectionType(AuthorizedMessage, BidSessionQueryDto, BidSessionBodyDto) {}
